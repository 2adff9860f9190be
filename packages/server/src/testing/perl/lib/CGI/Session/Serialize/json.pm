package CGI::Session::Serialize::json;

# CGI::Session 4.48's JSON serializer as CPAN ships it (Debian's libcgi-session-perl leaves it
# out): JSON::Syck's Dump and Load, which is what Perl apps using "serializer:json" run.
use strict;
use CGI::Session::ErrorHandler;
use JSON::Syck ();

@CGI::Session::Serialize::json::ISA = ("CGI::Session::ErrorHandler");
$CGI::Session::Serialize::json::VERSION = '4.38';

sub freeze { my ($self, $data) = @_; return JSON::Syck::Dump($data); }
sub thaw   { my ($self, $string) = @_; return (JSON::Syck::Load($string))[0]; }

1;
