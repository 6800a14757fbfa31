// The tab's conversation, kept in sessionStorage so a reload continues it (and a new tab starts fresh).

const KEY = "dasan.chat.v1";
const MAX_ITEMS = 200;

export function emptyState() {
  return { sessionId: null, cursor: 0, status: "bot", answered: [], items: [] };
}

export function loadState() {
  try {
    const saved = JSON.parse(window.sessionStorage.getItem(KEY) || "null");
    if (saved && typeof saved === "object" && Array.isArray(saved.items)) {
      return { ...emptyState(), ...saved };
    }
  } catch (error) {
    // Unreadable or disabled storage: start afresh.
  }
  return emptyState();
}

export function saveState(state) {
  const trimmed = {
    ...state,
    items: state.items.slice(-MAX_ITEMS),
    answered: state.answered.slice(-MAX_ITEMS),
  };
  try {
    window.sessionStorage.setItem(KEY, JSON.stringify(trimmed));
  } catch (error) {
    // Storage full or disabled: the conversation still works, it just won't survive a reload.
  }
}

export function clearState() {
  try {
    window.sessionStorage.removeItem(KEY);
  } catch (error) {
    // Nothing to clear.
  }
}
