"""Files and captions: figure captions, the HTML and PDF reports and session files. The top group of the
core: it may import every group below it, and none imports it."""
