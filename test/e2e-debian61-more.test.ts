// End to end on Debian 6.1 kernels, the rest: test/exact (each case names its 6.1 kernel, and a
// wrong --source tree the byte proof must refuse) and test/stable (one case per defect class the
// stable-update corpus found). The cases run as test/support/e2e-suite.ts describes.
import { DEBIAN61_MORE_SUITES, casesOf, e2eTests } from "./support/e2e-suite.js";

e2eTests(casesOf(DEBIAN61_MORE_SUITES));
