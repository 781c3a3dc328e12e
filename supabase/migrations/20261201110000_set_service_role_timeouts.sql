-- Bounds for the service role, which the edge functions use for every money and PIN call.
-- The API roles' statement timeouts (anon 3 s, authenticated 8 s, authenticator 8 s) are Supabase's
-- own, set on every project before any migration (the local stack's stack/bootstrap.sql); PostgREST
-- applies a role's settings when it switches to it.
--
-- service_role had no setting of its own: it ran under authenticator's 8 s, which is made explicit
-- here so that it no longer depends on the login role. A money call that queues behind a lock (a table
-- lock, a long transaction holding the customer's row) gives up after 3 s instead: the statement is
-- cancelled and rolled back, PostgREST answers 55P03, and the function answers 504 with Retry-After.
-- The client's retry with the same Idempotency-Key then either applies the call or replays it.
-- A hot customer's row lock is held for well under a millisecond per call, so 3 s of queueing means
-- something is wrong, not busy (the bench's 50 clients on one customer: p95 160 ms).
alter role service_role set statement_timeout = '8s';
alter role service_role set lock_timeout = '3s';

-- PostgREST reads the roles' settings with its configuration.
notify pgrst, 'reload config';
