package CGI::Session::Serialize::yaml;

# CGI::Session 4.48's YAML serializer as CPAN ships it (Debian's libcgi-session-perl leaves it
# out): YAML::Syck's Dump and Load with its defaults (ImplicitTyping off).
use strict;
use CGI::Session::ErrorHandler;
use YAML::Syck ();

@CGI::Session::Serialize::yaml::ISA = ("CGI::Session::ErrorHandler");
$CGI::Session::Serialize::yaml::VERSION = '4.26';

sub freeze { my ($self, $data) = @_; return YAML::Syck::Dump($data); }
sub thaw   { my ($self, $string) = @_; return (YAML::Syck::Load($string))[0]; }

1;
