// The test side of lock-child.ts: a real Node process per writer, spoken to line by line.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { fileURLToPath } from "node:url";

const script = fileURLToPath(new URL("./lock-child.ts", import.meta.url));
const REPLY_TIMEOUT_MS = 30_000;

export interface Ack {
  key: string;
  index: number;
}

export class WriterProcess {
  readonly pid: number;
  readonly acks: Ack[] = [];
  stderr = "";
  private readonly proc: ChildProcessWithoutNullStreams;
  private readonly replies: string[] = [];
  private wake: (() => void) | undefined;
  private exited = false;

  private constructor(proc: ChildProcessWithoutNullStreams) {
    this.proc = proc;
    this.pid = proc.pid ?? -1;
    let partial = "";
    proc.stdout.on("data", (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) this.take(line);
    });
    proc.stderr.on("data", (chunk: Buffer) => (this.stderr += chunk.toString()));
    proc.on("exit", () => {
      this.exited = true;
      this.wake?.();
    });
  }

  /** Starts a writer and waits until its modules are loaded, so commands sent next run at once. */
  static async start(mode: "ledger" | "outbox", tag: string, staleMs: number): Promise<WriterProcess> {
    const proc = spawn(process.execPath, [script, mode, tag, String(staleMs)], { stdio: "pipe" });
    const writer = new WriterProcess(proc);
    const loaded = await writer.reply();
    if (loaded !== "LOADED") throw new Error(`writer ${tag} said ${loaded}`);
    return writer;
  }

  private take(line: string): void {
    const ack = /^ACK (\S+) (\d+)$/.exec(line);
    if (ack !== null) this.acks.push({ key: ack[1] as string, index: Number(ack[2]) });
    else this.replies.push(line);
    this.wake?.();
  }

  send(command: string): void {
    this.proc.stdin.write(`${command}\n`);
  }

  /** The next line that is not an ACK. */
  async reply(): Promise<string> {
    const deadline = Date.now() + REPLY_TIMEOUT_MS;
    while (this.replies.length === 0) {
      if (this.exited) throw new Error(`writer ${this.pid} exited; stderr: ${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`writer ${this.pid} did not answer; stderr: ${this.stderr}`);
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, 100).unref();
      });
    }
    return this.replies.shift() as string;
  }

  async ask(command: string): Promise<string> {
    this.send(command);
    return this.reply();
  }

  signal(name: "SIGSTOP" | "SIGCONT" | "SIGKILL"): void {
    this.proc.kill(name);
  }

  async killed(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.proc.once("exit", () => resolve()));
    this.proc.kill("SIGKILL");
    await gone;
  }
}
