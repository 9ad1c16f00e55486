import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Tests spawn real child processes and train tiny models: give them room.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two files at once on the 2-core machine (vitest's default there is one): most of the
    // slow files wait on child processes (sshd, Slurm, training stages), so the suite takes
    // ~7.3 min instead of ~11 under load. Tests never depend on how many run at once.
    maxWorkers: 2,
  },
});
