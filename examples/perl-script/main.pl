#!/usr/bin/perl
# Summarize a list of measurements with core perl modules.
use strict;
use warnings;
use POSIX qw(floor);
use List::Util qw(sum max min);
use JSON::PP;
use Digest::MD5 qw(md5_hex);
use Time::Local qw(timegm);

my @readings = (12.5, 7.25, 19.0, 3.75, 11.0);
my $summary = {
    count => scalar @readings,
    sum   => sum(@readings),
    max   => max(@readings),
    min   => min(@readings),
    floor_mean => floor(sum(@readings) / @readings),
};
my $json = JSON::PP->new->canonical->encode($summary);
print "$json\n";
print "md5 ", md5_hex($json), "\n";
print "epoch ", timegm(0, 0, 12, 1, 5, 2024), "\n";
