"""The browser console: pages, their data views and the Channels consumers of the live bus."""
