/**
 * Development-only signing material of the provider fakes and `npm run simulate`: the Kick key pair
 * and the Twitch EventSub secret the embedded platform uses when none is configured. Public in this
 * repository, so never accepted in cluster mode (config.ts refuses the defaults there).
 */

/** The simulated Kick's public key (the default of INTEGRATION_KICK_PUBLIC_KEY when embedded). */
export const devKickPublicKeyPem = `-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAts9AiBTIM++tkzXXg0qK
9xvbNM/Qllxgq/W57R/+SPRfrw9IAetN1qpwp/EJx4cLoszeT7Wbq8joqQQzDMy5
1nX7/U/IlkD91aLkwTC6g2PdUCwS1468YkDuq3/b3/EYzqjGveLjqaAQ4rGcnXkN
hkIduJdazjbKE4L+eoca6uQ2fbq0mVLN1MWPedJPk9mcJOfYUIu715xp39Ri1t6n
Ejctl2BLaND9QYSL8uPdU/9G3gUq9qd7mXWmfmcvFbhFl7Ei6YYVpTYtUa9chZ5n
NgmXf8J0as1EttOchUxDAR/fO5M5BbmlsgZ8Saeppl5AmK9Q0Ys5W1o7T6RnTQC0
HwIDAQAB
-----END PUBLIC KEY-----`;

/** The simulated Kick's private key: signs webhooks in the fakes and `npm run simulate`. */
export const devKickPrivateKeyPem = `-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC2z0CIFMgz762T
NdeDSor3G9s0z9CWXGCr9bntH/5I9F+vD0gB603WqnCn8QnHhwuizN5PtZuryOip
BDMMzLnWdfv9T8iWQP3VouTBMLqDY91QLBLXjrxiQO6rf9vf8RjOqMa94uOpoBDi
sZydeQ2GQh24l1rONsoTgv56hxrq5DZ9urSZUs3UxY950k+T2Zwk59hQi7vXnGnf
1GLW3qcSNy2XYEto0P1BhIvy491T/0beBSr2p3uZdaZ+Zy8VuEWXsSLphhWlNi1R
r1yFnmc2CZd/wnRqzUS205yFTEMBH987kzkFuaWyBnxJp6mmXkCYr1DRizlbWjtP
pGdNALQfAgMBAAECggEAN6ETyxU/4wYRdNWSkmJRrWatqwF+QPM1e76X6H+u2rZ6
k4P77pGTKzrMc16XEj+XG+Bp2imyiHDn097yRffaqVdX6jqoGIkIdUVPhTZ121u9
UhNHXI8T5nZJ6qhK2Xe9i82yRMBRdSG/YayYsxbONcfS0YRFXrEvhwZ6uAB7AXUT
MZhQbV7lqAWiPMcVjWi8jHamF4jnBljUhdwTmEPOfbfFmYFUzkYAAj70wvrf4J2I
ig9MFtBxjBAp7tF5fvPczIFUc6iXx/BJmFcLT4/1dbEaOXrrzIhrb5/vX0SBTrO4
BT55rx2h7Toe7To3KmOBe1V7HWHgcTsjHJJyfCuZAQKBgQDZ5i0I0wRrBcDUP8RK
qDHuDPybmst1UZaHdDE61zDWMOkke5o3TBpDbbf2gYV9ZAnHd5jmY9vTWKTbr5jG
JwtZ+lZDQT8+cfWHGH5/b/lRF7WedUrro9rJLuO3gPqndYUrpUpG00HZBCr3cR4L
z+ksbMYg4TQetGcMA8G1HrrogQKBgQDWxlyl1djd38DwIkb71rb+oKocKrfVrIWS
VkUBxFsgNBWnOdnKpABDV67Dp8ZXD5vVBnwA7FYyppZ2fAspUlI+9ThBApgnnVVL
6PQ6YsoOM+l0tsH4VYU0gW/gGQ0rG2Y98LMRKgsI29z69rBaMapdeHFt02TUI7A8
0SxnJ+RMnwKBgGQ9fHgzwzOMyQGbeCy0JYwSk17uHi0RZINZ04/zEPdoNsjex7oq
m2ZrohaXzRY7IDiP71oFlEos3GJn7IszyQgSnv5/lJ2ghUgp33+2vmYs1xNXeCjh
DzRACugPQMAq0yGZ/4qHgyJXxYBhnGXotqcGPzs+/uAlM8aWL9WnlmqBAoGBAIYJ
9CZXSOpny5zSd6SSg1B0atX7XxHOguoqRxTsO8bkWqMr+p16LuPYZCydl64cArA3
RMq6tK0VxI+bqMeYJdY+6mXAPb9zdJlUgJ+zqdClW0zJBlN65BA5u92LJOnDRtLf
VpIewBY+STKjJLqVhnKhSYE2ThYLU+EQ1npmrheXAoGARcDkKAXUtkQvFDUoJ/wQ
nTJtQA7JAedi6nav0o5Uys0QcYZNLnLrkGu8Wj+y+1CTv5M3R4Z7Hpvqd79/1UXH
DxFNoA2V7lRgAOpyON2pwgC/RClomKp3XK9N6E9t2Nc+iUYYa3BwaXD0Deyt8FjM
90Hd93FZFVu9dAGwBhCeXIk=
-----END PRIVATE KEY-----`;

/** The EventSub secret of the embedded platform (the default of INTEGRATION_TWITCH_WEBHOOK_SECRET). */
export const devTwitchWebhookSecret = 'streambet-dev-eventsub-secret';

/** The token key of the embedded platform (the default of INTEGRATION_TOKEN_KEY), base64 of 32 bytes. */
export const devTokenKey = 'c3RyZWFtYmV0LWRldi10b2tlbi1rZXktMzItYnl0ZXM=';
