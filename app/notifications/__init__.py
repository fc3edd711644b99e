"""Notifications: chaincode events routed to the parties they concern, kept in an inbox and delivered
to subscribers as signed webhooks (issue 16.4). See docs/notifications.md."""
