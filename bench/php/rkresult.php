<?php
// The PHP peer for rkresult: a ResultURL handler the way most
// Robokassa integrations are written, after Robokassa's own PHP sample —
// md5 check, one UPDATE through PDO SQLite, echo "OK$inv_id". Run by
// php-cgi under the same lighttpd as our CGIs, on the same kind of store.

$mrh_pass2 = getenv('RK_BENCH_PASSWORD2');

$out_summ = $_REQUEST['OutSum'] ?? '';
$inv_id = $_REQUEST['InvId'] ?? '';
$crc = strtoupper($_REQUEST['SignatureValue'] ?? '');

$my_crc = strtoupper(md5("$out_summ:$inv_id:$mrh_pass2"));
if ($my_crc !== $crc) {
    header('Status: 403 Forbidden');
    echo "bad sign\n";
    exit();
}

try {
    $db = new PDO('sqlite:' . getenv('MGR5_ROOT') . '/var/pmrobokassa.db');
    $db->setAttribute(PDO::ATTR_ERRMODE, PDO::ERRMODE_EXCEPTION);
    $db->exec('PRAGMA synchronous=FULL');
    $st = $db->prepare('UPDATE payments SET status = 4, paid_at = :t, updated_at = :t '
        . 'WHERE id = :id AND amount = :amount AND status IN (1, 2)');
    $st->execute([':t' => time(), ':id' => (int)$inv_id,
        ':amount' => (int)round((float)$out_summ * 100)]);
    if ($st->rowCount() !== 1) {
        header('Status: 409 Conflict');
        echo "not payable\n";
        exit();
    }
} catch (PDOException $e) {
    header('Status: 503 Service Unavailable');
    echo "store unavailable\n";
    exit();
}

echo "OK$inv_id\n";
