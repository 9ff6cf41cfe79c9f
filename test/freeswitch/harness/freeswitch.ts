// One FreeSWITCH switch of the suite: its own directories, the suite's base configuration with the
// shipped files of switches/freeswitch/ laid over it as docs/freeswitch.md tells a user (steps 3
// and 4: copy the files, set the three variables, put the peers in the ACL), started and stopped
// with the package's own binary. Only per-switch values differ between switches.
import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { ROOT } from "../../e2e/harness/edge";
import { sleep } from "../../e2e/harness/ports";

const run = promisify(execFile);

/** An install named by FS_HOME (bin/freeswitch under it), or the package's /opt/freeswitch. */
export const FS_HOME = process.env.FS_HOME ?? "/opt/freeswitch";
const BINARY = join(FS_HOME, "bin", "freeswitch");
const FS_CLI = join(FS_HOME, "bin", "fs_cli");
const SHIPPED = join(ROOT, "switches", "freeswitch");
const BASE = join(import.meta.dirname, "base");
export const EVENT_SOCKET = { port: 8021, password: "ClueCon" };

export interface FreeswitchSettings {
  name: string;
  /** The loopback address it listens on (SIP on 5060, event socket on 8021). */
  ip: string;
  /** Where the switch reaches the edge (edge_url). */
  edgeUrl: string;
  switchId: string;
  credential: string;
  /** Source addresses trusted without a digest: the other switches, carriers. */
  peers: string[];
  rtpPorts: [number, number];
  heartbeatSeconds: number;
}

export interface FreeswitchDirs {
  home: string;
  conf: string;
  log: string;
  db: string;
  run: string;
}

export function freeswitchDirs(logDir: string, name: string): FreeswitchDirs {
  const home = join(logDir, `freeswitch-${name}`);
  return { home, conf: join(home, "conf"), log: join(home, "log"), db: join(home, "db"), run: join(home, "run") };
}

/** Write the configuration: the base, then the shipped files as the guide says. */
export function configure(settings: FreeswitchSettings, dirs: FreeswitchDirs): void {
  const C = dirs.conf;
  cpSync(BASE, C, { recursive: true });
  for (const dir of ["sip_profiles", "directory", "scripts"]) mkdirSync(join(C, dir), { recursive: true });
  writeFileSync(
    join(C, "vars-switch.xml"),
    [
      "<include>",
      `  <X-PRE-PROCESS cmd="set" data="local_ip_v4=${settings.ip}"/>`,
      `  <X-PRE-PROCESS cmd="set" data="rtp_start_port=${settings.rtpPorts[0]}"/>`,
      `  <X-PRE-PROCESS cmd="set" data="rtp_end_port=${settings.rtpPorts[1]}"/>`,
      `  <X-PRE-PROCESS cmd="set" data="heartbeat_seconds=${settings.heartbeatSeconds}"/>`,
      "</include>",
      "",
    ].join("\n"),
  );

  // Step 3: copy the files.
  cpSync(join(SHIPPED, "vars-edge.xml"), join(C, "vars-edge.xml"));
  for (const file of ["xml_curl.conf.xml", "lua.conf.xml", "acl.conf.xml", "sofia.conf.xml"]) {
    cpSync(join(SHIPPED, "autoload_configs", file), join(C, "autoload_configs", file));
  }
  cpSync(join(SHIPPED, "sip_profiles", "internal-edge.xml"), join(C, "sip_profiles", "internal-edge.xml"));
  cpSync(join(SHIPPED, "directory", "default.xml"), join(C, "directory", "default.xml"));
  cpSync(join(SHIPPED, "scripts", "whistle_edge_events.lua"), join(C, "scripts", "whistle_edge_events.lua"));
  cpSync(join(SHIPPED, "whistle_edge_route.xml"), join(C, "whistle_edge_route.xml"));

  // Step 4: the three variables, and the peers instead of the example addresses.
  const varsFile = join(C, "vars-edge.xml");
  let vars = readFileSync(varsFile, "utf8");
  vars = setVariable(vars, "edge_url", settings.edgeUrl);
  vars = setVariable(vars, "edge_switch_id", settings.switchId);
  vars = setVariable(vars, "edge_switch_credential", settings.credential);
  writeFileSync(varsFile, vars);
  const aclFile = join(C, "autoload_configs", "acl.conf.xml");
  const acl = readFileSync(aclFile, "utf8");
  const example = /( *)<node type="allow" cidr="10\.0\.0\.4\/32"\/>\n\s*<node type="allow" cidr="10\.0\.0\.5\/32"\/>/;
  if (!example.test(acl)) throw new Error("the shipped acl.conf.xml no longer has the example peers the guide names");
  writeFileSync(aclFile, acl.replace(example, (_, indent: string) => settings.peers.map((ip) => `${indent}<node type="allow" cidr="${ip}/32"/>`).join("\n")));
}

function setVariable(text: string, name: string, value: string): string {
  const line = new RegExp(`<X-PRE-PROCESS cmd="set" data="${name}=[^"]*"/>`);
  if (!line.test(text)) throw new Error(`vars-edge.xml has no ${name} line`);
  return text.replace(line, `<X-PRE-PROCESS cmd="set" data="${name}=${value}"/>`);
}

function pid(dirs: FreeswitchDirs): number | null {
  const file = join(dirs.run, "freeswitch.pid");
  if (!existsSync(file)) return null;
  const value = Number(readFileSync(file, "utf8").trim());
  return Number.isInteger(value) && value > 0 ? value : null;
}

function running(processId: number | null): boolean {
  if (processId === null) return false;
  try {
    process.kill(processId, 0);
    return true;
  } catch {
    return false;
  }
}

/** Start in the background; resolves once the switch is ready (`-ncwait`) and its profile is up. */
export async function startFreeswitch(settings: FreeswitchSettings, dirs: FreeswitchDirs): Promise<void> {
  if (running(pid(dirs))) throw new Error(`freeswitch ${settings.name} is already running`);
  const args = ["-nonat", "-ncwait", "-conf", dirs.conf, "-log", dirs.log, "-db", dirs.db, "-run", dirs.run];
  args.push("-temp", join(dirs.home, "tmp"), "-certs", join(dirs.home, "certs"), "-scripts", join(dirs.conf, "scripts"));
  args.push("-storage", join(dirs.home, "storage"), "-cache", join(dirs.home, "cache"), "-recordings", join(dirs.home, "recordings"));
  for (const dir of ["tmp", "certs", "storage", "cache", "recordings"]) mkdirSync(join(dirs.home, dir), { recursive: true });
  await run(BINARY, args, { timeout: 60_000 });
  const deadline = Date.now() + 30_000;
  for (;;) {
    const status = await cli(settings.ip, "sofia status").catch((error: Error) => error.message);
    if (/internal\s+profile\s+\S+\s+RUNNING/.test(status)) return;
    if (Date.now() > deadline) throw new Error(`freeswitch ${settings.name}: the internal profile is not running:\n${status}\n${logTail(dirs)}`);
    await sleep(200);
  }
}

/** Stop as an operator does (`freeswitch -stop`), waiting until the process is gone. */
export async function stopFreeswitch(dirs: FreeswitchDirs): Promise<void> {
  const processId = pid(dirs);
  if (!running(processId)) return;
  await run(BINARY, ["-stop", "-run", dirs.run], { timeout: 30_000 }).catch(() => undefined);
  const deadline = Date.now() + 30_000;
  while (running(processId)) {
    if (Date.now() > deadline) {
      process.kill(processId!, "SIGKILL");
      break;
    }
    await sleep(100);
  }
}

/** One fs_cli command on a switch's event socket. */
export async function cli(ip: string, command: string): Promise<string> {
  const { stdout } = await run(FS_CLI, ["-H", ip, "-P", String(EVENT_SOCKET.port), "-p", EVENT_SOCKET.password, "-x", command], { timeout: 10_000 });
  return stdout;
}

export function logTail(dirs: FreeswitchDirs, lines = 60): string {
  const file = join(dirs.log, "freeswitch.log");
  return existsSync(file) ? readFileSync(file, "utf8").split("\n").slice(-lines).join("\n") : "(no log)";
}
