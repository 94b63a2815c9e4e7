// The review keyboard shortcuts, in one table the help overlay lists.
export type Action = "next" | "prev" | "approve" | "reject" | "edit" | "undo" | "help" | "search";

export const SHORTCUTS: { key: string; action: Action; label: string }[] = [
  { key: "j", action: "next", label: "Next proposal" },
  { key: "ArrowDown", action: "next", label: "Next proposal" },
  { key: "k", action: "prev", label: "Previous proposal" },
  { key: "ArrowUp", action: "prev", label: "Previous proposal" },
  { key: "a", action: "approve", label: "Approve" },
  { key: "r", action: "reject", label: "Reject" },
  { key: "e", action: "edit", label: "Correct (edit the values to send)" },
  { key: "u", action: "undo", label: "Undo your last decision" },
  { key: "/", action: "search", label: "Search" },
  { key: "?", action: "help", label: "Show or hide this help" },
];

/** The action for a key press, unless typing in a field or using a modifier. */
export function actionFor(e: KeyboardEvent): Action | null {
  const t = e.target as HTMLElement | null;
  if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable))
    return null;
  if (e.ctrlKey || e.metaKey || e.altKey) return null;
  return SHORTCUTS.find((s) => s.key === e.key)?.action ?? null;
}
