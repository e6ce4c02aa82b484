// Mocha's spec reporter, then one closing line CI reads:
// "infra: N passed, N failed" (", N skipped" when some were).
import * as Mocha from "mocha";

class Summary extends Mocha.reporters.Spec {
    constructor(runner: Mocha.Runner, options?: Mocha.MochaOptions) {
        super(runner, options);
        runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
            const s = runner.stats!;
            const skipped = s.pending ? `, ${s.pending} skipped` : "";
            process.stdout.write(`infra: ${s.passes} passed, ${s.failures} failed${skipped}\n`);
        });
    }
}

export = Summary;
