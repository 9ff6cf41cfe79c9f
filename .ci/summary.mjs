// Print vitest's JSON reports as the plain closing line CI reads: "N passed, N failed[, N skipped]".
import { readFileSync } from "node:fs";

const reports = process.argv.slice(2).map((file) => JSON.parse(readFileSync(file, "utf8")));
const sum = (key) => reports.reduce((total, report) => total + (report[key] ?? 0), 0);
const skipped = sum("numPendingTests") + sum("numTodoTests");
const line = `${sum("numPassedTests")} passed, ${sum("numFailedTests")} failed`;
console.log(skipped > 0 ? `${line}, ${skipped} skipped` : line);
if (reports.length < 3 || sum("numTotalTests") === 0) process.exit(1);
