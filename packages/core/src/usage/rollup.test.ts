import { rollupRanges, uncovered } from "./rollup";

const UsageInterval = { none: "none", hour: "hour", day: "day" } as const;

const at = (iso: string) => new Date(iso);

describe("rollupRanges", () => {
  const until = at("2026-03-10T12:00:00Z");

  it("reads whole UTC days from daily rows and the ragged hours around them from hourly rows", () => {
    expect(
      rollupRanges(at("2026-03-01T05:20:00Z"), at("2026-03-20T00:00:00Z"), until, UsageInterval.day, "UTC"),
    ).toEqual([
      { period: "day", from: at("2026-03-02T00:00:00Z"), to: at("2026-03-10T00:00:00Z") },
      { period: "hour", from: at("2026-03-01T06:00:00Z"), to: at("2026-03-02T00:00:00Z") },
      { period: "hour", from: at("2026-03-10T00:00:00Z"), to: until },
    ]);
  });

  it("reads hourly rows only where a UTC day is not one bucket (another zone, or hourly buckets)", () => {
    const from = at("2026-03-01T00:00:00Z");
    const to = at("2026-03-09T00:00:00Z");
    const hoursOnly = [{ period: "hour", from, to }];
    expect(rollupRanges(from, to, until, UsageInterval.day, "America/New_York")).toEqual(hoursOnly);
    expect(rollupRanges(from, to, until, UsageInterval.hour, "UTC")).toEqual(hoursOnly);
  });

  it("reads no rollups where an hour is not inside one bucket (a zone at a half-hour offset)", () => {
    expect(
      rollupRanges(at("2026-03-01T00:00:00Z"), at("2026-03-09T00:00:00Z"), until, UsageInterval.day, "Asia/Kolkata"),
    ).toEqual([]);
    // Without time buckets any zone is fine.
    expect(
      rollupRanges(at("2026-03-01T00:00:00Z"), at("2026-03-09T00:00:00Z"), until, UsageInterval.none, "Asia/Kolkata"),
    ).toEqual([{ period: "day", from: at("2026-03-01T00:00:00Z"), to: at("2026-03-09T00:00:00Z") }]);
  });

  it("reads no rollups for a range after what was rolled, or shorter than an hour", () => {
    expect(
      rollupRanges(at("2026-03-10T12:00:00Z"), at("2026-03-11T00:00:00Z"), until, UsageInterval.none, "UTC"),
    ).toEqual([]);
    expect(
      rollupRanges(at("2026-03-01T10:10:00Z"), at("2026-03-01T10:50:00Z"), until, UsageInterval.none, "UTC"),
    ).toEqual([]);
  });
});

describe("uncovered", () => {
  it("returns the parts of a range that no rollup range covers, in order", () => {
    const from = at("2026-03-01T05:20:00Z");
    const to = at("2026-03-20T00:00:00Z");
    const ranges = rollupRanges(from, to, at("2026-03-10T12:00:00Z"), UsageInterval.day, "UTC");
    expect(uncovered(from, to, ranges)).toEqual([
      { from, to: at("2026-03-01T06:00:00Z") },
      { from: at("2026-03-10T12:00:00Z"), to },
    ]);
    expect(uncovered(from, to, [])).toEqual([{ from, to }]);
    expect(
      uncovered(at("2026-03-01T00:00:00Z"), at("2026-03-02T00:00:00Z"), [
        { period: "day", from: at("2026-03-01T00:00:00Z"), to: at("2026-03-02T00:00:00Z") },
      ]),
    ).toEqual([]);
  });
});
