/** The domain's enum values must equal the protobuf ones: the RPC edge translates by value. */
import { describe, expect, it } from 'vitest';
import {
  CreateAccountResultCode as ProtoCreateAccountResultCode,
  TransferResultCode as ProtoTransferResultCode,
} from '@streambet/contracts/gen/streambet/user/v1/ledger_pb';
import {
  AccountKind as ProtoAccountKind,
  PendingStatus as ProtoPendingStatus,
  TransferCode as ProtoTransferCode,
  TransferKind as ProtoTransferKind,
} from '@streambet/contracts/gen/streambet/user/v1/ledger_types_pb';
import {
  AccountKind,
  CreateAccountResultCode,
  PendingStatus,
  TransferCode,
  TransferKind,
  TransferResultCode,
} from '../../src/ledger/domain/index.js';

function protoValues(enumObject: Record<string, string | number>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(enumObject).filter(
      (entry): entry is [string, number] =>
        typeof entry[1] === 'number' && entry[0] !== 'UNSPECIFIED',
    ),
  );
}

describe('ledger enums mirror the contract', () => {
  it.each([
    ['AccountKind', AccountKind, ProtoAccountKind],
    ['TransferKind', TransferKind, ProtoTransferKind],
    ['TransferCode', TransferCode, ProtoTransferCode],
    ['TransferResultCode', TransferResultCode, ProtoTransferResultCode],
    ['CreateAccountResultCode', CreateAccountResultCode, ProtoCreateAccountResultCode],
  ] as const)('%s', (_name, domain, proto) => {
    expect(domain).toEqual(protoValues(proto as unknown as Record<string, string | number>));
  });

  it('PendingStatus (NONE is the proto UNSPECIFIED)', () => {
    const { NONE, ...rest } = PendingStatus;
    expect(NONE).toBe(ProtoPendingStatus.UNSPECIFIED);
    expect(rest).toEqual(
      protoValues(ProtoPendingStatus as unknown as Record<string, string | number>),
    );
  });
});
