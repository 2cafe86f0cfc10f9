"""What the Chromium tests share besides the `browser` fixture of conftest."""

# Every Content-Security-Policy violation a page reports, gathered in the page;
# read back with page.evaluate("window.__violations").
WATCH_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(event.violatedDirective + " " + event.blockedURI);
});
"""
