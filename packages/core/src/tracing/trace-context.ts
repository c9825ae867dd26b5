// --- traces (issue 10) ---
import type * as OtelApi from "@opentelemetry/api";

/**
 * The one door the code base goes through to tracing. When OTEL_EXPORTER_OTLP_ENDPOINT is unset
 * nothing here loads OpenTelemetry: every function is a check of one module variable, and
 * `withSpan` just calls its function. The process's `instrumentation` entry (first import of
 * each main) starts the SDK and hands the API over with `enableTracing`, before the modules
 * the SDK instruments are loaded.
 */

/** W3C trace context as carried outside HTTP headers: a job's record, an outbox event's payload. */
export interface TraceCarrier {
  traceparent: string;
  tracestate?: string;
}

/** Key under which an outbox event's payload carries the trace context of the change that emitted it. */
export const TRACE_CARRIER_KEY = "_trace";

export type SpanKindName = "internal" | "client" | "producer" | "consumer";

export interface SpanOptions {
  kind?: SpanKindName;
  attributes?: Record<string, string | number | boolean>;
  /** Continue this trace (a job's or event's carrier) instead of the active one. */
  parent?: TraceCarrier | undefined;
}

/** What a traced function may add to its span; a no-op when tracing is off. */
export interface SpanHandle {
  setAttribute(key: string, value: string | number | boolean): void;
}

const NOOP_SPAN: SpanHandle = { setAttribute: () => undefined };

let api: typeof OtelApi | null = null;
let shutdown: (() => Promise<void>) | null = null;

/** Called once by the SDK start-up (`startTracing`); never when tracing is off. */
export function enableTracing(otel: typeof OtelApi, stop: () => Promise<void>): void {
  api = otel;
  shutdown = stop;
}

/** Whether this process exports traces. */
export function tracingEnabled(): boolean {
  return api !== null;
}

/** Exports the spans still buffered (the process is about to exit). Resolves at once when tracing is off. */
export async function flushTracing(): Promise<void> {
  await shutdown?.().catch(() => undefined);
}

/** The active span's context as a carrier, or undefined (tracing off, or no span active). */
export function currentTraceCarrier(): TraceCarrier | undefined {
  if (!api) return undefined;
  const span = api.trace.getSpan(api.context.active());
  if (!span || !api.isSpanContextValid(span.spanContext())) return undefined;
  const carrier: Record<string, string> = {};
  api.propagation.inject(api.context.active(), carrier);
  return carrier.traceparent ? (carrier as unknown as TraceCarrier) : undefined;
}

/** Reads a carrier stored by an older or foreign writer: anything but a traceparent string is ignored. */
export function asTraceCarrier(value: unknown): TraceCarrier | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const { traceparent, tracestate } = value as Record<string, unknown>;
  if (typeof traceparent !== "string") return undefined;
  return typeof tracestate === "string" ? { traceparent, tracestate } : { traceparent };
}

/**
 * Runs `fn` in a new span (child of `options.parent` when given, else of the active span),
 * ended when `fn` settles; a throw marks it as an error and is rethrown. Tracing off: `fn` runs
 * as it is.
 */
export function withSpan<T>(name: string, options: SpanOptions, fn: (span: SpanHandle) => Promise<T>): Promise<T> {
  if (!api) return fn(NOOP_SPAN);
  const otel = api;
  const parent = options.parent
    ? otel.propagation.extract(otel.context.active(), options.parent)
    : otel.context.active();
  const kind = {
    internal: otel.SpanKind.INTERNAL,
    client: otel.SpanKind.CLIENT,
    producer: otel.SpanKind.PRODUCER,
    consumer: otel.SpanKind.CONSUMER,
  }[options.kind ?? "internal"];
  const tracer = otel.trace.getTracer("sprintconnect");
  return tracer.startActiveSpan(name, { kind, attributes: options.attributes ?? {} }, parent, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      span.recordException(err as Error);
      span.setStatus({ code: otel.SpanStatusCode.ERROR, message: (err as Error).message });
      throw err;
    } finally {
      span.end();
    }
  });
}

/** Fields the logger adds to each line while a span is active (pino mixin). */
export function traceLogFields(): Record<string, string> {
  if (!api) return {};
  const span = api.trace.getSpan(api.context.active());
  if (!span) return {};
  const { traceId, spanId, traceFlags } = span.spanContext();
  if (!api.isSpanContextValid(span.spanContext())) return {};
  return { trace_id: traceId, span_id: spanId, trace_flags: `0${traceFlags.toString(16)}` };
}
// --- end traces ---
