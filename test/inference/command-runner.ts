// Runs one src/cli/commands/<name>.ts the way the CLI does (run(argv) -> exit code), for tests that need a real process.
const [name, ...argv] = process.argv.slice(2);
const command = (await import(`../../src/cli/commands/${name}.ts`)) as { run(argv: string[]): Promise<number> };
process.exitCode = await command.run(argv);
