const Sequencer = require("@jest/test-sequencer").default;

/** The order the figures read best in; a bench not listed runs last, by name. */
const ORDER = ["stack", "gateway", "discovery", "search", "events", "jobs", "memory"];

const rank = (path) => {
  const name = path.replace(/^.*\//, "").replace(/\.bench\.ts$/, "");
  const index = ORDER.indexOf(name);
  return index === -1 ? ORDER.length : index;
};

/** Runs the benches in a fixed order instead of jest's (slowest first, from its timing cache). */
class BenchSequencer extends Sequencer {
  sort(tests) {
    return [...tests].sort((a, b) => rank(a.path) - rank(b.path) || a.path.localeCompare(b.path));
  }
}

module.exports = BenchSequencer;
