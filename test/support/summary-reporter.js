// Prints one plain closing line ("N passed, N failed") that CI systems can read, after jest's own summary.
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    const suiteFailures = results.numFailedTestSuites > 0 && results.numFailedTests === 0 ? 1 : 0;
    process.stderr.write(
      `\n${results.numPassedTests} passed, ${results.numFailedTests + suiteFailures} failed${skipped ? `, ${skipped} skipped` : ''}\n`,
    );
  }
}
module.exports = SummaryReporter;
