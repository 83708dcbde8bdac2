#!/usr/bin/perl
# One workload of the real-program corpus in Perl: memory in Perl strings, or descriptors.
#
#   perl workload.pl --window 80 --resource memory --retain 20 --churn 30 --pattern random --cycle 1
#
# The shape is laid out over the recording window (--window seconds), as in the other runtimes'
# workloads: --base is held from the start, --retain is added between --ramp-start and --ramp-end
# (shares of the window; only when a churn cycle ends with --retain-at-cycle), and --churn comes and
# goes by --pattern (sawtooth, waves, random, none) every --cycle seconds. Memory units of
# --chunk-kib are strings (perl's malloc, glibc's); descriptors are /dev/null.
use strict;
use warnings;
use Getopt::Long;
use List::Util qw(min max);
use POSIX qw(floor fmod);
use Time::HiRes qw(time sleep);

my %o = (window => 80, seconds => 0, resource => 'memory', base => 0, retain => 0, 'ramp-start' => 0,
         'ramp-end' => 1, 'retain-at-cycle' => 0, churn => 0, pattern => 'none', cycle => 10,
         'churn-trend' => 0, 'chunk-kib' => 64, seed => 1, tick => 0.05);
GetOptions(\%o, map { $_ eq 'retain-at-cycle' ? $_ : "$_=s" } keys %o) or exit 2;
$o{seconds} ||= $o{window} + 30;
srand($o{seed});
my $fds = $o{resource} eq 'fds';
my $bytes = int($o{'chunk-kib'} * 1024);
my $per_unit = $fds ? 1 : 1024 / $o{'chunk-kib'};

sub make {
    if ($fds) { open(my $fh, '<', '/dev/null') or die "open: $!"; return $fh; }
    my $chunk = 'x' x $bytes;
    return \$chunk;
}

sub resize {
    my ($pool, $count) = @_;
    push @$pool, make() while @$pool < $count;
    while (@$pool > $count) { my $unit = pop @$pool; close($unit) if $fds; }
}

my ($last_cycle, $wave_end, $next_wave, $height, $amount, $next_random) = (0, 0, 0, 0, 0, 0);

sub churn_target {
    my ($s) = @_;
    my $scale = max(1 + $o{'churn-trend'} * $s / $o{window}, 0);
    my ($c, $cycle) = ($o{churn}, $o{cycle});
    if ($o{pattern} eq 'sawtooth') {
        my $n = floor($s / $cycle);
        my $ended = $n != $last_cycle;
        $last_cycle = $n;
        return ($c * $scale * fmod($s, $cycle) / $cycle, $ended);
    }
    if ($o{pattern} eq 'waves') {
        my $ended = 0;
        if ($s >= $next_wave) {
            $height = $c * $scale * (0.3 + 0.7 * rand());
            $wave_end = $s + $cycle * (0.5 + rand());
            $next_wave = $wave_end + $cycle * (0.15 + 0.35 * rand());
        }
        if ($s >= $wave_end && $height > 0) { $height = 0; $ended = 1; }
        return ($height, $ended);
    }
    if ($o{pattern} eq 'random') {
        if ($s >= $next_random) { $amount = $c * $scale * rand(); $next_random = $s + $cycle; }
        return ($amount, 0);
    }
    return (0, 0);
}

my (@held, @retained, @transient);
resize(\@held, int($o{base} * $per_unit + 0.5));
my $started = time();
while ((my $s = time() - $started) < $o{seconds}) {
    my ($wanted, $ended) = churn_target($s);
    resize(\@transient, $ended ? 0 : int($wanted * $per_unit + 0.5));
    if (!$o{'retain-at-cycle'} || $ended) {
        my $span = max($o{'ramp-end'} - $o{'ramp-start'}, 1e-9);
        my $done = min(max(($s / $o{window} - $o{'ramp-start'}) / $span, 0), 1);
        resize(\@retained, int($o{retain} * $per_unit * $done + 0.5));
    }
    sleep($o{tick});
}
