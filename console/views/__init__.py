"""The browser console: server-rendered pages and the session-authenticated JSON they fetch.

One module per page; every view calls the store services, never a backend or the ORM for
events."""
