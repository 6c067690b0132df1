import { registerEnumType } from 'type-graphql';
import { CollectBatchStatus, PaymentStatus } from '../../src/chillr/types.js';
import { UserErrorCode } from '../../src/errors.js';
import { GroupPurchaseStatus, InventoryState, PurchaseAction } from '../../src/pbg/types.js';

/**
 * The graph's enums are the service's own, registered as they are: one definition, so the
 * domain and the schema cannot drift apart.
 */
registerEnumType(UserErrorCode, {
  name: 'UserErrorCode',
  description: 'Why an input was refused; each userError carries one',
});
registerEnumType(CollectBatchStatus, {
  name: 'CollectBatchStatus',
  description: "A Chillr batch's state; UNKNOWN keeps Chillr's own word in rawStatus",
});
registerEnumType(PaymentStatus, {
  name: 'PaymentStatus',
  description: "One customer's payment; NOT_GENERATED means Chillr never sent the request",
});

registerEnumType(GroupPurchaseStatus, {
  name: 'GroupPurchaseStatus',
  description: "A PayByGroup purchase's state; UNKNOWN keeps PayByGroup's own word in rawStatus",
});
registerEnumType(PurchaseAction, {
  name: 'PurchaseAction',
  description: 'What the merchant can do to a group purchase',
});
registerEnumType(InventoryState, {
  name: 'InventoryState',
  description: 'Whether the merchant can still supply what a purchase buys',
});

export {
  CollectBatchStatus,
  GroupPurchaseStatus,
  InventoryState,
  PaymentStatus,
  PurchaseAction,
  UserErrorCode,
};
