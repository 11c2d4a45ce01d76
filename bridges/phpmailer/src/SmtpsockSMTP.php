<?php

declare(strict_types=1);

namespace Smtpsock\Bridge\PHPMailer;

/**
 * What Smtpsock\Bridge\PHPMailer\PHPMailer keeps in PHPMailer's $smtp
 * property: PHPMailer's own code reads it after a failure (postSend() sends
 * RSET through it with SMTPKeepAlive), and getSMTPInstance() users read the
 * transaction id from it. It never connects: the connection is the
 * SmtpSocket's, which leaves its session ready for the next message itself.
 *
 * @internal
 */
class SmtpsockSMTP extends \PHPMailer\PHPMailer\SMTP
{
    private ?string $smtpsockTransactionId = null;

    /** Nothing to reset here (PHPMailer calls this after a failed message). */
    public function reset()
    {
        return true;
    }

    /** The queue id the server gave the last message sent through smtpsock. */
    public function getLastTransactionID()
    {
        return $this->smtpsockTransactionId;
    }

    /** @internal set by Smtpsock\Bridge\PHPMailer\PHPMailer */
    public function setSmtpsockTransactionId(?string $id): void
    {
        $this->smtpsockTransactionId = $id;
    }
}
