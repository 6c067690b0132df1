import { registerEnumType } from 'type-graphql';
import { CollectBatchStatus, PaymentStatus } from '../../src/chillr/types.js';
import { UserErrorCode } from '../../src/errors.js';
import { GroupPurchaseStatus, InventoryState, PurchaseAction } from '../../src/pbg/types.js';
import { GroupPurchaseChangeSource } from '../../src/purchase/stored.js';

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
registerEnumType(GroupPurchaseChangeSource, {
  name: 'GroupPurchaseChangeSource',
  description: 'How this service learned of a change',
  valuesConfig: {
    PUSH: { description: "PayByGroup's change push" },
    RECONCILIATION: {
      description:
        "a periodic comparison with PayByGroup's own answer, or a read that found a change no push announced",
    },
    ACTION: { description: 'an action this service performed and PayByGroup accepted' },
  },
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
  GroupPurchaseChangeSource,
  GroupPurchaseStatus,
  InventoryState,
  PaymentStatus,
  PurchaseAction,
  UserErrorCode,
};
