// A schedule's trigger in words: "when nfl-live-plays.jsonl gains 500 rows", "when advice@champion moves".

export function describeTrigger(trigger) {
  if (!trigger) return "";
  if (trigger.model) return `when ${trigger.model}@${trigger.alias} moves`;
  if (trigger.rows) return `when ${trigger.object} gains ${Number(trigger.rows).toLocaleString("en-US")} rows`;
  return `when ${trigger.object} gets a new version`;
}
