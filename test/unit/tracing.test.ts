import { describe, expect, it } from 'vitest';
import {
  currentTraceparent,
  tracedFetch,
  tracedProcessor,
  tracingRequested,
} from '../../src/shared/tracing.ts';

describe('tracing switch (standard OTEL_* variables)', () => {
  it('is off unless an OTLP endpoint or a traces exporter is named', () => {
    expect(tracingRequested({})).toBe(false);
    expect(tracingRequested({ OTEL_SERVICE_NAME: 'x', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' })).toBe(
      false,
    );
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBe(true);
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' })).toBe(
      true,
    );
    expect(tracingRequested({ OTEL_TRACES_EXPORTER: 'console' })).toBe(true);
  });

  it('stays off when told so, whatever else is set', () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' };
    expect(tracingRequested({ ...endpoint, OTEL_TRACES_EXPORTER: 'none' })).toBe(false);
    expect(tracingRequested({ ...endpoint, OTEL_SDK_DISABLED: 'true' })).toBe(false);
  });

  it('while off, hands back the very processor and fetch it was given and stores no trace context', () => {
    const processor = async () => 'done';
    expect(tracedProcessor('stage chat', 'chat', async () => null, processor)).toBe(processor);
    expect(tracedFetch('chat', 'gpt-5.4-mini', fetch)).toBe(fetch);
    expect(currentTraceparent()).toBeNull();
  });
});
