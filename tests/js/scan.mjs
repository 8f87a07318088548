// Parse a .chart or .mid file with scan-chart (a reader Backbeat did not write) and print
// JSON: resolution, tempos, time signatures, sections and, per drum difficulty, every note as
// [tick, lane, flags] plus counts. Usage: node scan.mjs FILE [pro_drums(0|1)]
import { readFileSync } from "node:fs";
import { parseChartFile, noteTypes, noteFlags } from "scan-chart";

const [file, pro] = process.argv.slice(2);
const format = file.toLowerCase().endsWith(".mid") ? "mid" : "chart";
const modifiers = pro === "1" ? { pro_drums: true } : {};
const parsed = parseChartFile(new Uint8Array(readFileSync(file)), format, modifiers);
const laneOf = {
  [noteTypes.kick]: 0, [noteTypes.redDrum]: 1, [noteTypes.yellowDrum]: 2,
  [noteTypes.blueDrum]: 3, [noteTypes.greenDrum]: 4,
};
const tracks = {};
for (const t of parsed.trackData) {
  if (t.instrument !== "drums") continue;
  const notes = [];
  for (const group of t.noteEventGroups) {
    for (const n of group) notes.push([n.tick, laneOf[n.type] ?? -1, n.flags]);
  }
  tracks[t.difficulty] = {
    count: notes.length,
    cymbals: notes.filter((n) => n[2] & noteFlags.cymbal).length,
    double_kicks: notes.filter((n) => n[2] & noteFlags.doubleKick).length,
    accents: notes.filter((n) => n[2] & noteFlags.accent).length,
    ghosts: notes.filter((n) => n[2] & noteFlags.ghost).length,
    star_power: t.starPowerSections.map((s) => [s.tick, s.length]),
    fills: t.drumFreestyleSections.map((s) => [s.tick, s.length]),
    notes,
  };
}
process.stdout.write(JSON.stringify({
  resolution: parsed.resolution,
  drum_type: parsed.drumType,
  metadata: parsed.metadata,
  tempos: parsed.tempos.map((t) => [t.tick, t.beatsPerMinute]),
  time_signatures: parsed.timeSignatures.map((t) => [t.tick, t.numerator, t.denominator]),
  sections: parsed.sections.map((s) => [s.tick, s.name]),
  tracks,
}));
