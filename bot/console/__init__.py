"""The agent console: staff accounts, the inbox, live replies, and agents' answers as FAQs.

`staff` holds accounts and the audit log, `auth` the login cookie and CSRF, `desk` what an
agent does to a conversation, `faq` writes an answer into the knowledge folder, and `routes`
`pages` are the web side (/console). Nothing here is imported unless the console is used.
"""
