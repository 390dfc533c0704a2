-- +goose Up
-- The grab pool's way into the request list: a property's pooled requests,
-- newest first, without walking its others.
CREATE INDEX service_requests_pool_idx ON service_requests (property_id, created_at DESC, id DESC) WHERE pooled;

-- +goose Down
DROP INDEX service_requests_pool_idx;
