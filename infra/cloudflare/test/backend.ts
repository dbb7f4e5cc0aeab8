import { type IncomingMessage, type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";

/** A request the stand-in app received, with when it arrived and when it was answered (epoch ms, this process's clock). */
export interface Call {
  readonly job: string;
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage["headers"];
  readonly body: string;
  readonly receivedAt: number;
  answeredAt?: number;
  /** What the stand-in did: the HTTP status it answered, or "dropped" for a closed connection. */
  outcome?: number | "dropped";
}

/** How the stand-in answers. */
export interface StubAnswer {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Record<string, string>;
}

/** Picks the answer to a call, `nth` being its number among this job's calls (1-based); "drop" closes the connection unanswered. */
export type Behaviour = (call: Call, nth: number) => StubAnswer | "drop" | Promise<StubAnswer | "drop">;

export const answers = {
  startedExecution: { status: 200, body: { status: "started", execution: "caj-backend-x-k3v9q", runId: "run-ee" } },
  startedProcess: { status: 200, body: { status: "started", pid: 4242, runId: "run-sopn" } },
  notDue: (nextDue: string) => ({ status: 200, body: { status: "skipped", reason: "not_due", nextDue } }),
  alreadyRunning: { status: 200, body: { status: "skipped", reason: "already_running", runId: "run-earlier" } },
  unavailable: (retryAfter: string) => ({
    status: 503,
    body: { status: "error", error: "The lock store is unreachable." },
    headers: { "Retry-After": retryAfter },
  }),
  rateLimited: (retryAfter: string) => ({ status: 429, body: { error: "Rate limit exceeded" }, headers: { "Retry-After": retryAfter } }),
} satisfies Record<string, StubAnswer | ((value: string) => StubAnswer)>;

/**
 * A stand-in for the function app on 127.0.0.1: records every call to `/api/cron/<job>` with its arrival and
 * answer times and answers as the current behaviour says.
 */
export class StubApp {
  readonly calls: Call[] = [];
  #behaviour: Behaviour = () => answers.startedExecution;
  readonly #server: Server;

  private constructor() {
    this.#server = createServer((request, response) => {
      let body = "";
      request.setEncoding("utf8");
      request.on("data", (chunk: string) => (body += chunk));
      request.on("end", () => {
        const url = request.url ?? "";
        const call: Call = {
          job: /^\/api\/cron\/([^?]+)/.exec(url)?.[1] ?? "",
          method: request.method ?? "",
          url,
          headers: request.headers,
          body,
          receivedAt: Date.now(),
        };
        this.calls.push(call);
        const nth = this.calls.filter((each) => each.job === call.job).length;
        void Promise.resolve(this.#behaviour(call, nth)).then((answer) => {
          call.answeredAt = Date.now();
          if (answer === "drop") {
            call.outcome = "dropped";
            request.socket.destroy();
            return;
          }

          call.outcome = answer.status;
          response.writeHead(answer.status, { "Content-Type": "application/json", ...answer.headers });
          response.end(JSON.stringify(answer.body));
        });
      });
    });
  }

  static async start(): Promise<StubApp> {
    const stub = new StubApp();
    await new Promise<void>((resolve) => stub.#server.listen(0, "127.0.0.1", resolve));
    // If workerd cannot start, the tests fail instead of this server keeping the process alive.
    stub.#server.unref();
    return stub;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/api`;
  }

  /** Forgets earlier calls and answers from now on as `behaviour` says. */
  reset(behaviour: Behaviour): void {
    this.calls.length = 0;
    this.#behaviour = behaviour;
  }

  callsOf(job: string): Call[] {
    return this.calls.filter((call) => call.job === job);
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
