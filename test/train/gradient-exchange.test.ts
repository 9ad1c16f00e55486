import { describe, expect, it } from 'vitest';
import { Command, GradientExchange, ReplicaFailedError } from '../../src/ml/train/gradient-exchange.ts';

/** A coordinator and one worker's view of the same shared memory, driven step by step from this thread. */
function pair(): { coordinator: GradientExchange; worker: GradientExchange } {
  const coordinator = GradientExchange.create(2, 3, 4);
  return { coordinator, worker: GradientExchange.attach(coordinator.buffers) };
}

describe('GradientExchange', () => {
  it('lets the coordinator post and write the next step while a worker still reads the last one (one barrier per step)', () => {
    const { coordinator, worker } = pair();
    coordinator.post(Command.Step, [0, 1], 0.5, 7);
    expect(worker.nextCommand()).toBe(Command.Step);
    coordinator.slot(0, 3).set([1, 2, 3]);
    worker.slot(1, 3).set([10, 20, 30]);
    coordinator.figures.set([1.5, 1, 0.5], 0);
    worker.figures.set([2.5, 2, 1], 3);
    coordinator.arrive();
    worker.arrive();

    // The coordinator passed the barrier and goes on to step 8 before the worker has summed step 7.
    coordinator.post(Command.Step, [2, 3], 0.25, 8);
    coordinator.slot(0, 3).set([100, 200, 300]);
    coordinator.figures.set([9, 9, 9], 0);
    coordinator.arrive();

    worker.allArrived(); // step 7's barrier: does not block
    expect(Array.from(worker.summed(0, 3))).toEqual([11, 22, 33]);
    expect(Array.from(worker.figures)).toEqual([1.5, 1, 0.5, 2.5, 2, 1]);
    expect([Array.from(worker.batch()), worker.lr, worker.step]).toEqual([[0, 1], 0.5, 7]);

    expect(worker.nextCommand()).toBe(Command.Step);
    expect([Array.from(worker.batch()), worker.lr, worker.step]).toEqual([[2, 3], 0.25, 8]);
    worker.slot(1, 3).set([1000, 2000, 3000]);
    worker.arrive();
    expect(Array.from(worker.summed(0, 3))).toEqual([1100, 2200, 3300]);
    expect(Array.from(coordinator.summed(0, 3))).toEqual([1100, 2200, 3300]);
  });

  it('refuses a post before the last command passed its barrier, and wakes waiters with an error after a failure', () => {
    const { coordinator, worker } = pair();
    coordinator.post(Command.Step, [0], 0, 0);
    worker.nextCommand();
    coordinator.arrive();
    expect(() => coordinator.post(Command.Step, [1], 0, 1)).toThrow(/barrier/);
    worker.fail();
    expect(() => coordinator.post(Command.Stop)).toThrow(ReplicaFailedError);
    expect(() => worker.allArrived()).toThrow(ReplicaFailedError);
  });

  it('rejects a batch larger than it was made for, naming both sizes', () => {
    const { coordinator } = pair();
    expect(() => coordinator.post(Command.Step, [0, 1, 2, 3, 4], 0, 0)).toThrow('batch of 5 exceeds the exchange\'s 4');
  });
});
