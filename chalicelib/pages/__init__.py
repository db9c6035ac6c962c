"""Server-rendered HTML pages and the static assets they load (everything the Lambda serves)."""
