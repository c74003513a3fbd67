import { entityKind } from 'drizzle-orm';
import type { DB } from './open.ts';
import { withTurn } from './transaction.ts';

/**
 * SQLite has one connection, and a transaction on it may await between its
 * statements: a query another chain of work ran on it meanwhile would land
 * inside that transaction (and vanish with its rollback). So a query run on
 * the database outside any transaction waits for its turn, as a transaction
 * does (`withTurn`); inside a transaction of its own chain it runs at once.
 * The handle `openDb` gives is this gate around drizzle's: every query built
 * from it is held back until its turn when awaited.
 */
const ROOT_METHODS = new Set<PropertyKey>(['select', 'selectDistinct', 'insert', 'update', 'delete', 'with']);
const UNGATED = Symbol('ungated');

export function gateQueries(db: DB): DB {
  return new Proxy(db, {
    get(target, prop) {
      if (prop === UNGATED) return target;
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function' || !ROOT_METHODS.has(prop)) return value;
      return (...args: unknown[]) => gateBuilder((value as (...a: unknown[]) => object).apply(target, args), db);
    },
  });
}

/** The handle under the gate: what a transaction's own work runs on. */
export function ungated(db: DB): DB {
  return ((db as unknown as Record<symbol, DB | undefined>)[UNGATED] ?? db) as DB;
}

function isThenable(value: object): value is { execute(): Promise<unknown> } {
  return typeof (value as { then?: unknown }).then === 'function';
}

function isBuilder(value: unknown): value is object {
  if (typeof value !== 'object' || value === null) return false;
  if (isThenable(value)) return true;
  const kind = (value.constructor as unknown as Record<symbol, unknown>)[entityKind];
  return typeof kind === 'string' && kind.endsWith('Builder');
}

function gateBuilder(builder: object, db: DB): object {
  const proxy: object = new Proxy(builder, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      if (prop === 'then') {
        const run = target as { execute(): Promise<unknown> };
        return (onFulfilled?: (v: unknown) => unknown, onRejected?: (e: unknown) => unknown) =>
          withTurn(db, () => run.execute()).then(onFulfilled, onRejected);
      }
      return (...args: unknown[]) => {
        const result: unknown = (value as (...a: unknown[]) => unknown).apply(target, args);
        if (result === target) return proxy;
        return isBuilder(result) ? gateBuilder(result, db) : result;
      };
    },
  });
  return proxy;
}
