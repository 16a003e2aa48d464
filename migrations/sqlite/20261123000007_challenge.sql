-- The form's proof-of-work switch counts requests of the last minute across all codes.
CREATE INDEX requests_created ON requests (created_at);
