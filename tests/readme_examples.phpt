--TEST--
README.md: every php example runs against the test Postfix, every php.ini block loads (one line per block)
--DESCRIPTION--
Reads README.md and checks each fenced php and ini block (tests/inc/readme.inc;
conventions in README.md, "How the examples in this README are tested").
A failing block prints "FAIL N README.md:LINE ..." with the reason. The last
line pins how many examples are pending (they need AUTH, not implemented
yet): change it deliberately when a feature leaves README_PENDING or such an
example is added or removed.
--EXTENSIONS--
smtpsock
--SKIPIF--
<?php
require __DIR__ . '/inc/smtpsock_test.inc';
if (!is_file(dirname(__DIR__) . '/README.md')) {
    die('skip README.md is not beside tests/ (installed package)');
}
if (($reason = smtpsock_test_postfix_skip_reason()) !== null) {
    die("skip $reason");
}
?>
--FILE--
<?php
require __DIR__ . '/inc/readme.inc';
readme_examples_run(dirname(__DIR__) . '/README.md');
?>
--EXPECTF--
%A
README.md: %d blocks checked: %d ok, 0 failed, %d skipped
pending (features in README_PENDING, tests/inc/readme.inc): 0
