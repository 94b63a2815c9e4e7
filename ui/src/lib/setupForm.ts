// The Setup screen's blank field: a field of a reconciliation with every
// setting at the default `trueup.toml` gives it when left out.
import type { FieldForm } from "./ipc";

export const blankField = (target: string, source: string | null = null): FieldForm => ({
  target,
  source,
  sources: [],
  separator: null,
  transforms: [],
  value_map: null,
  default: null,
  ownership: "left",
  compare: { ignore_case: false, ignore_whitespace: false, numeric: null, date_formats: [], ignore: false },
  validate: { required: false, regex: null, enum: [], min: null, max: null, max_length: null, unique: false },
});
