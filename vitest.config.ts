import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Tests spawn real child processes and train tiny models: give them room.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Three files at once on the 2-core machine (vitest's default there is one): the slow
    // files often wait on child processes (sshd, Slurm, training stages), so a third keeps
    // both cores busy: 434 s against 498 s with two, at 1.9 cores of CPU (2026-12-03, fresh
    // clone, nothing else running). Tests never depend on how many run at once.
    maxWorkers: 3,
  },
});
