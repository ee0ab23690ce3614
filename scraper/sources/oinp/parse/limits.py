"""What no Ontario page comes near (the real ones: paragraphs under 1,000 characters,
posts under 11,000, at most 6 selections in one post). A page beyond these is refused
with a ParseError rather than read: past them the reading would be a guess, and each
bound keeps the work for one post small whatever the page holds."""

MAX_BLOCK_CHARS = 20_000        # one paragraph, list item or heading
MAX_ENTRY_CHARS = 200_000       # one post
MAX_ENTRIES = 1_000             # posts on one page (85 on the busiest year so far)
MAX_SELECTIONS = 30             # draws one post reports
MAX_NOCS = 1_100                # distinct codes one post lists: NOC 2016 + 2021 have ~1,016 unit groups
