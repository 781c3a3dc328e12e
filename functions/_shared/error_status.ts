// Error code -> HTTP status, the one table in code (README's "Error codes" and SQL's private.raise_error
// are tied to it by tests/database/error_table.test.ts). No imports and nothing Deno-specific: the edge
// functions, the k6 scripts (k6/lib/journey-rules.ts), the Node bench and the local gateway
// (stack/gateway.ts) all import this very file.

export const ERROR_STATUS = {
  validation_failed: 400,
  invalid_json: 400,
  idempotency_key_required: 400,
  invalid_amount: 400,
  invalid_pin_format: 400,
  invalid_phone: 400,
  invalid_name: 400,
  not_authenticated: 401,
  invalid_kiosk_key: 401,
  pin_invalid: 401,
  kiosk_deactivated: 403,
  not_shop_member: 403,
  insufficient_role: 403,
  customer_not_found: 404,
  transaction_not_found: 404,
  kiosk_not_found: 404,
  shop_not_found: 404,
  member_not_found: 404,
  user_not_found: 404,
  promotion_not_found: 404,
  route_not_found: 404,
  method_not_allowed: 405,
  insufficient_balance: 409,
  balance_ceiling_exceeded: 409,
  already_cancelled: 409,
  cannot_cancel_reversal: 409,
  not_cancellable: 409,
  partial_cancel_not_allowed: 409,
  cancel_exceeds_remaining: 409,
  nothing_to_refund: 409,
  refund_not_allowed: 409,
  idempotency_key_reused: 409,
  phone_taken: 409,
  pin_not_set: 409,
  already_member: 409,
  last_owner: 409,
  balance_not_zero: 409,
  customer_closed: 409,
  customer_not_closed: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  pin_locked: 423,
  internal_error: 500,
  service_unavailable: 503,
  upstream_timeout: 504,
} as const;

// How long a client should wait before retrying an outage (with the same Idempotency-Key for money):
// the functions' `Retry-After` on these codes and the gateway's on its own 503 and 504.
export const RETRY_AFTER_SECONDS = { service_unavailable: '1', upstream_timeout: '2' } as const;
