"""Web pages for people: QR passport, timeline, lender, auditor and regulator views (server-rendered)."""
