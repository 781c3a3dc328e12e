export { stackEnv, type StackEnv } from './env.ts';
export { anonClient, serviceClient, clientOptions, db, closeDb, untyped } from './clients.ts';
export {
  createUser,
  signInAgain,
  uniqueEmail,
  createShop,
  addMember,
  createShopWithStaff,
  invitationToken,
  type TestUser,
  type TestShop,
  type ShopRole,
  type ShopWithStaff,
} from './fixtures.ts';
export { uniquePhone, balanceOf, balanceParts, ledgerCount, type CustomerRecord } from './ledger.ts';
export { REQUEST_TIMEOUT_MS, gatewayHeaders, readAnswer, send, type RawRequest } from './requests.ts';
