// The link emulator alone, for `orbitfed link-emulator` (cli/link-emulator-command.ts): a narrower
// public entry than hil/index.ts, which also loads the scenario runner, the federation and the
// simulator, and through them the scheduler, the ledger, the agents, MQTT and the country borders.
// The relay needs none of that, and what a process has loaded its garbage collector walks at each
// major collection: loaded through index.ts the relay's heap was ~18 MB after start and a major
// collection paused its deliveries for 2–8 ms (hil/README.md, "How exact it is").
export { LinkEmulatorService, loadLinkEmulatorService, type LinkEmulatorServiceOptions } from './link-emulator-service.ts';
