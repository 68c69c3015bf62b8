"""HTTP and pacing: the keep-alive transport, the client (auth, retries, errors, the rate limiter) and
requests in flight sized by Little's law and the fetch pool. Imports errors, config and records only."""
