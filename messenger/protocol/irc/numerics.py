"""The numeric replies the IRC front door sends, by name (modern.ircdocs.horse's names), and the
one function that writes a numeric line.  A numeric's first parameter is its reader's nick
(``*`` before registration), so numerics are only ever written for one connection."""

from __future__ import annotations

from .message import serialise

RPL_WELCOME, RPL_YOURHOST, RPL_CREATED, RPL_MYINFO, RPL_ISUPPORT = "001", "002", "003", "004", "005"
RPL_UMODEIS = "221"
RPL_SILELIST, RPL_ENDOFSILELIST = "271", "272"
RPL_LUSERCLIENT = "251"
RPL_AWAY, RPL_UNAWAY, RPL_NOWAWAY = "301", "305", "306"
RPL_WHOISUSER, RPL_WHOISSERVER, RPL_WHOISOPERATOR = "311", "312", "313"
RPL_ENDOFWHO, RPL_WHOISIDLE, RPL_ENDOFWHOIS, RPL_WHOISCHANNELS = "315", "317", "318", "319"
RPL_LISTSTART, RPL_LIST, RPL_LISTEND, RPL_CHANNELMODEIS = "321", "322", "323", "324"
RPL_WHOISACCOUNT, RPL_NOTOPIC, RPL_TOPIC, RPL_TOPICWHOTIME = "330", "331", "332", "333"
RPL_INVITING, RPL_WHOISACTUALLY = "341", "338"
RPL_VERSION, RPL_WHOREPLY, RPL_NAMREPLY, RPL_ENDOFNAMES = "351", "352", "353", "366"
RPL_BANLIST, RPL_ENDOFBANLIST = "367", "368"
RPL_MOTD, RPL_MOTDSTART, RPL_ENDOFMOTD = "372", "375", "376"
ERR_NOSUCHNICK, ERR_NOSUCHCHANNEL, ERR_CANNOTSENDTOCHAN = "401", "403", "404"
ERR_TOOMANYTARGETS, ERR_NORECIPIENT, ERR_NOTEXTTOSEND = "407", "411", "412"
ERR_INPUTTOOLONG, ERR_UNKNOWNCOMMAND, ERR_NOMOTD = "417", "421", "422"
ERR_NONICKNAMEGIVEN, ERR_ERRONEUSNICKNAME, ERR_NICKNAMEINUSE = "431", "432", "433"
ERR_USERNOTINCHANNEL, ERR_NOTONCHANNEL, ERR_NOTREGISTERED = "441", "442", "451"
ERR_NEEDMOREPARAMS, ERR_ALREADYREGISTERED, ERR_PASSWDMISMATCH = "461", "462", "464"
ERR_YOUREBANNEDCREEP, ERR_UNKNOWNMODE, ERR_INVITEONLYCHAN = "465", "472", "473"
ERR_NOPRIVILEGES, ERR_CHANOPRIVSNEEDED, ERR_USERSDONTMATCH = "481", "482", "502"
ERR_INVALIDCAPCMD = "410"
RPL_LOGGEDIN, RPL_SASLSUCCESS, ERR_SASLFAIL, ERR_SASLTOOLONG = "900", "903", "904", "905"
ERR_SASLABORTED, ERR_SASLALREADY, RPL_SASLMECHS = "906", "907", "908"


def as_word(text: str) -> str:
    """Text a client sent, made fit to be echoed as a middle parameter (``NICK :a b`` is
    answered about ``a_b``): no space, no leading ``:``, never empty."""
    word = text.replace(" ", "_").lstrip(":")
    return word or "*"


def numeric(server: str, target: str, code: str, *params: str) -> bytes:
    """``:server CODE target params...`` with its CRLF; the last parameter is the text, the
    others are made words (they may echo what a client sent)."""
    words = [as_word(param) for param in params[:-1]]
    return serialise(code, as_word(target), *words, *params[-1:], source=server)
