// --- traces (issue 10) ---
import * as api from "@opentelemetry/api";
import { node, tracing } from "@opentelemetry/sdk-node";
import pino from "pino";
import {
  asTraceCarrier,
  currentTraceCarrier,
  enableTracing,
  traceLogFields,
  tracingEnabled,
  withSpan,
} from "./trace-context";

/**
 * The facade with a real tracer provider (in-memory exporter), in this test file's own module
 * registry: what the processes get once the SDK has started. Off is the state before
 * `enableTracing`, the first test.
 */
const exporter = new tracing.InMemorySpanExporter();

describe("trace context", () => {
  it("is inert before tracing is enabled: no carrier, no log fields, the function just runs", async () => {
    expect(tracingEnabled()).toBe(false);
    expect(currentTraceCarrier()).toBeUndefined();
    expect(traceLogFields()).toEqual({});
    const traced = withSpan("x", {}, async (span) => {
      span.setAttribute("a", 1);
      return 42;
    });
    await expect(traced).resolves.toBe(42);
  });

  describe("once enabled", () => {
    beforeAll(() => {
      const provider = new node.NodeTracerProvider({ spanProcessors: [new tracing.SimpleSpanProcessor(exporter)] });
      provider.register();
      enableTracing(api, () => provider.shutdown());
    });
    beforeEach(() => exporter.reset());

    it("continues the trace of a carrier, as a worker does with a job's record", async () => {
      let carrier: ReturnType<typeof currentTraceCarrier>;
      await withSpan("request", { kind: "internal" }, async () => {
        carrier = currentTraceCarrier();
      });
      expect(carrier?.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      // Stored as JSON and read back, as Redis and PostgreSQL hand it over.
      const stored = asTraceCarrier(JSON.parse(JSON.stringify(carrier)));
      await withSpan(
        "job x",
        { kind: "consumer", parent: stored, attributes: { "job.id": "1" } },
        async () => undefined,
      );
      const [request, job] = exporter.getFinishedSpans();
      expect(job?.spanContext().traceId).toBe(request?.spanContext().traceId);
      expect(job?.parentSpanContext?.spanId).toBe(request?.spanContext().spanId);
      expect(job?.kind).toBe(api.SpanKind.CONSUMER);
      expect(job?.attributes).toEqual({ "job.id": "1" });
    });

    it("marks a span whose function throws as an error, and rethrows", async () => {
      await expect(
        withSpan("boom", {}, async () => {
          throw new Error("no");
        }),
      ).rejects.toThrow("no");
      const [span] = exporter.getFinishedSpans();
      expect(span?.status).toEqual({ code: api.SpanStatusCode.ERROR, message: "no" });
      expect(span?.events.map((e) => e.name)).toEqual(["exception"]);
    });

    it("ignores carriers that are not W3C trace context, starting a new trace", async () => {
      expect(asTraceCarrier(null)).toBeUndefined();
      expect(asTraceCarrier({ traceparent: 7 })).toBeUndefined();
      expect(asTraceCarrier("00-abc")).toBeUndefined();
      await withSpan("fresh", { parent: { traceparent: "garbage" } }, async () => undefined);
      const [span] = exporter.getFinishedSpans();
      expect(span?.parentSpanContext).toBeUndefined();
    });

    it("gives log lines written inside a span its trace and span ids (pino mixin)", async () => {
      const lines: Array<Record<string, unknown>> = [];
      const logger = pino({ mixin: traceLogFields }, { write: (line: string) => lines.push(JSON.parse(line)) });
      logger.info("outside");
      await withSpan("inside", {}, async () => logger.info("inside"));
      const [span] = exporter.getFinishedSpans();
      expect(lines[0]).not.toHaveProperty("trace_id");
      expect(lines[1]).toMatchObject({
        msg: "inside",
        trace_id: span?.spanContext().traceId,
        span_id: span?.spanContext().spanId,
        trace_flags: "01",
      });
    });
  });
});
// --- end traces ---
