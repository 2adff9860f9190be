#!/usr/bin/perl
# Drives the real Perl CGI::Session for the interoperability tests. One JSON object on the
# command line says what to do; one JSON line on stdout says what happened (ASCII-escaped, so
# a Perl byte string "caf\xc3\xa9" shows as "caf\u00c3\u00a9" and a character string as
# "caf\u00e9"). Exits non-zero with CGI::Session's errstr on failure.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use CGI::Session;
use JSON::PP;
use Time::HiRes ();

my $json = JSON::PP->new->ascii->canonical->allow_nonref;
my $req  = JSON::PP->new->utf8->decode($ARGV[0]);
my $dsn  = $req->{dsn};
my $args = $req->{args} || {};
local $ENV{REMOTE_ADDR} = $req->{remote_addr} if defined $req->{remote_addr};
CGI::Session->import('-ip_match') if $req->{ip_match};
# A Perl CGI app that never decodes its input holds UTF-8 bytes: the strings it is given here too.
my $bytes = $req->{bytes};
sub perl_value {
    my ($v) = @_;
    return $v unless $bytes;
    if (ref $v eq 'HASH')  { return { map { perl_value($_) => perl_value($v->{$_}) } keys %$v } }
    if (ref $v eq 'ARRAY') { return [ map { perl_value($_) } @$v ] }
    return defined $v && !ref $v ? do { my $c = $v; utf8::encode($c); $c } : $v;
}
sub die_with { print STDERR "cgisession.pl: $_[0]: " . (CGI::Session->errstr || '') . "\n"; exit 2 }
sub report {
    my ($s) = @_;
    my $data = $s->dataref;
    return {
        id => $s->id, is_empty => $s->is_empty ? 1 : 0, is_expired => $s->is_expired ? 1 : 0,
        params => { map { $_ => $s->param($_) } $s->param },
        atime => $data->{_SESSION_ATIME}, ctime => $data->{_SESSION_CTIME},
        etime => $data->{_SESSION_ETIME}, remote_addr => $data->{_SESSION_REMOTE_ADDR},
    };
}
sub apply {
    my ($s) = @_;
    my $set = $req->{set} || {};
    $s->param(perl_value($_), perl_value($set->{$_})) for sort keys %$set;
    $s->clear($req->{clear}) if $req->{clear};
    $s->expire($req->{expire}) if defined $req->{expire};
    $s->expire($_, $req->{expire_param}{$_}) for keys %{ $req->{expire_param} || {} };
}

my $op = $req->{op};
if ($op eq 'new') {
    my $s = CGI::Session->new($dsn, $req->{sid}, $args) or die_with('new');
    apply($s);
    $s->flush or die_with('flush');
    print $json->encode(report($s)), "\n";
} elsif ($op eq 'load') {
    my $s = CGI::Session->load($dsn, $req->{sid}, $args) or die_with('load');
    apply($s) unless $s->is_empty;
    # flush() returns false when it had nothing to do (an empty session): check errstr instead.
    $s->flush;
    die_with('flush') if $s->errstr;
    print $json->encode(report($s)), "\n";
} elsif ($op eq 'delete') {
    my $s = CGI::Session->load($dsn, $req->{sid}, $args) or die_with('load');
    $s->delete;
    $s->flush;
    die_with('flush') if $s->errstr;
    print $json->encode({ deleted => 1 }), "\n";
} elsif ($op eq 'find') {
    my @seen;
    CGI::Session->find($dsn, sub { my $s = shift; push @seen, $s->is_empty ? undef : $s->id }, $args)
        or die_with('find');
    print $json->encode({ ids => [ grep { defined } @seen ], visited => scalar @seen }), "\n";
} elsif ($op eq 'increment') {
    # What a Perl request does: load the whole session, change one param, write it all back.
    my ($done, $failed) = (0, 0);
    for (1 .. $req->{times}) {
        my $s = CGI::Session->new($dsn, $req->{sid}, $args);
        if (!$s || $s->id ne $req->{sid}) { $failed++; next }
        $s->param($req->{name}, ($s->param($req->{name}) || 0) + 1);
        if ($s->flush) { $done++ } else { $failed++ }
        Time::HiRes::sleep($req->{pause}) if $req->{pause};
    }
    print $json->encode({ done => $done, failed => $failed }), "\n";
} elsif ($op eq 'append') {
    # The same, appending "p<n>" to a list: which entries survive tells who overwrote whom.
    my ($done, $failed) = (0, 0);
    for my $i (1 .. $req->{times}) {
        my $s = CGI::Session->new($dsn, $req->{sid}, $args);
        if (!$s || $s->id ne $req->{sid}) { $failed++; next }
        $s->param($req->{name}, [ @{ $s->param($req->{name}) || [] }, "p$i" ]);
        if ($s->flush) { $done++ } else { $failed++ }
    }
    print $json->encode({ done => $done, failed => $failed }), "\n";
} elsif ($op eq 'rewrite') {
    # A request that rewrites a big session again and again (Perl writes the file in place).
    my $big = 'x' x $req->{size};
    for my $i (1 .. $req->{times}) {
        my $s = CGI::Session->new($dsn, $req->{sid}, $args) or die_with('new');
        $s->param('big', "$big$i");
        $s->flush or die_with('flush');
    }
    print $json->encode({ done => $req->{times} }), "\n";
} elsif ($op eq 'thaw_freeze') {
    # Reads serializer output from stdin (one base64 line each), thaws it the way CGI::Session
    # does (Safe->reval for the default serializer) and writes each table back frozen.
    require MIME::Base64;
    my $ser = 'CGI::Session::Serialize::' . ($req->{serializer} || 'default');
    eval "require $ser" or die $@;
    while (my $line = <STDIN>) {
        chomp $line;
        my $data = $ser->thaw(MIME::Base64::decode_base64($line));
        print defined $data ? MIME::Base64::encode_base64($ser->freeze($data), '') : 'ERROR ' . $ser->errstr, "\n";
    }
} else {
    die "cgisession.pl: unknown op $op\n";
}
