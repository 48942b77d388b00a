// The shopper's name is their user id, checked here so that a mistake is
// explained in words before anything is sent.

const max = 128;

// nameProblem says what is wrong with name, or "" when it can be used.
export function nameProblem(name) {
  if (name === "") {
    return "Type your name first.";
  }
  const bad = [...new Set(name.replace(/[A-Za-z0-9._:@-]/g, ""))];
  if (bad.length > 0) {
    const shown = bad.slice(0, 5).map((c) => (c === " " ? "spaces" : `“${c}”`)).join(", ");
    return `That name cannot be used: only letters, digits and . _ : @ - are allowed, not ${shown}.`;
  }
  if (name.length > max) {
    return `That name is too long: it has ${name.length} characters, at most ${max} fit.`;
  }
  // "." and ".." vanish from a URL path, so the shop could never look the
  // name up.
  if (/^\.+$/.test(name)) {
    return "That name cannot be only dots.";
  }
  return "";
}
